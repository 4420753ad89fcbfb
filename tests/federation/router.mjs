// A partner's router: composes Integra's subgraph (its SDL fetched from `_service { sdl }`)
// with the partner subgraph using @apollo/composition, then serves the supergraph with
// @apollo/gateway on @apollo/server, on loopback. Prints one line once it serves:
// READY {"router": URL, "partner": URL}. Any composition error is printed and exits 1.
//
// Environment: INTEGRA_GRAPHQL_URL (Integra's /graphql), INTEGRA_TOKEN (bearer token sent
// to Integra on every request, optional), APOLLO_TELEMETRY_DISABLED=1.
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { parse } from "graphql";

import { partnerTypeDefs, startPartner } from "./partner.mjs";

const integraUrl = process.env.INTEGRA_GRAPHQL_URL;
const token = process.env.INTEGRA_TOKEN || "";
if (!integraUrl) {
  console.error("INTEGRA_GRAPHQL_URL is not set");
  process.exit(2);
}
for (const url of [integraUrl]) {
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) {
    console.error(`refusing a non-loopback Integra URL: ${url}`);
    process.exit(2);
  }
}

function integraHeaders() {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return headers;
}

async function integraSdl() {
  const response = await fetch(integraUrl, {
    method: "POST",
    headers: integraHeaders(),
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const answer = await response.json();
  if (!response.ok || answer.errors) {
    throw new Error(`_service { sdl } failed: ${response.status} ${JSON.stringify(answer)}`);
  }
  return answer.data._service.sdl;
}

const partner = await startPartner();
const composition = composeServices([
  { name: "integra", typeDefs: parse(await integraSdl()), url: integraUrl },
  { name: "partner", typeDefs: partnerTypeDefs, url: partner.url },
]);
if (composition.errors && composition.errors.length > 0) {
  console.error("composition failed:");
  for (const error of composition.errors) console.error(`- ${error.message}`);
  process.exit(1);
}

class IntegraDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request }) {
    if (token && this.url === integraUrl) {
      request.http.headers.set("authorization", `Bearer ${token}`);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: composition.supergraphSdl,
  buildService: ({ url }) => new IntegraDataSource({ url }),
});
const router = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(router, { listen: { host: "127.0.0.1", port: 0 } });
console.log(`READY ${JSON.stringify({ router: url, partner: partner.url })}`);

async function stop() {
  await router.stop();
  await partner.server.stop();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
