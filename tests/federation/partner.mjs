// A partner's own subgraph: it extends Integra's `Shop` entity with `partnerRating` and
// lists the shops it rated as Shop entities (which Integra resolves through `_entities`).
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

export const partnerTypeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])

  type Shop @key(fields: "id") {
    id: ID!
    "The partner's own rating of the shop, 1 to 5 stars; null when not rated."
    partnerRating: Int
  }

  type Query {
    "Shops the partner rated, best first."
    partnerFavourites: [Shop!]!
  }

  type Mutation {
    "Rate a shop (1 to 5 stars)."
    rateShop(shopId: ID!, stars: Int!): Shop!
  }
`);

export function partnerResolvers() {
  const ratings = new Map();
  return {
    Shop: {
      __resolveReference: ({ id }) => ({ id }),
      partnerRating: ({ id }) => ratings.get(id) ?? null,
    },
    Query: {
      partnerFavourites: () =>
        [...ratings.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => ({ id })),
    },
    Mutation: {
      rateShop: (_, { shopId, stars }) => {
        if (!Number.isInteger(stars) || stars < 1 || stars > 5) {
          throw new Error("stars must be 1 to 5");
        }
        ratings.set(shopId, stars);
        return { id: shopId };
      },
    },
  };
}

/** Start the partner subgraph on loopback; resolves to its URL. */
export async function startPartner() {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs: partnerTypeDefs, resolvers: partnerResolvers() }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
  return { server, url };
}
