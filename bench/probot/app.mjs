// The Probot peer of bench.intake: a Probot app that receives `push` webhooks and does nothing.
//
// bench/probot.py copies this file next to the node_modules it installs probot into, and runs
// it with PORT and GITHUB_WEBHOOK_SECRET set. Probot's own middleware (createNodeMiddleware,
// which is @octokit/webhooks' verifyAndReceive) checks X-Hub-Signature-256, parses the JSON,
// runs the handlers and answers 200; it stores nothing. The app is authenticated as a GitHub
// App with a throwaway key: a push without an installation never uses it.
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import { Probot, createNodeMiddleware } from "probot";

const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const probot = new Probot({
  appId: 1,
  privateKey,
  secret: process.env.GITHUB_WEBHOOK_SECRET,
  logLevel: "warn",
});
const app = (bot) => {
  bot.on("push", async () => {});
};
const middleware = await createNodeMiddleware(app, { probot, webhooksPath: "/webhooks/github" });

const server = createServer((request, response) => {
  if (request.url === "/healthz") {
    response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    return;
  }
  middleware(request, response, () => response.writeHead(404).end());
});
server.listen(Number(process.env.PORT), "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
