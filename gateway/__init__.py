"""The GraphQL gateway: the only public API, and an Apollo Federation v2 subgraph."""
