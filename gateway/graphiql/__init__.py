"""GraphiQL served by the gateway itself: no CDN, so it works without internet access.

The assets (React 18, ReactDOM 18 and GraphiQL 3 UMD builds) are installed from npm at build
time (``make graphiql``, part of ``make up`` and ``make tools``) into
``gateway/graphiql/node_modules``, pinned by ``package-lock.json``; only the files listed in
:data:`ASSETS` are served, under ``/graphql/assets/<name>``.
"""
