// The Probot peer of bench.chatops: on `issue_comment.created` whose body starts with `/deploy`,
// it reacts `eyes` on the comment, and does nothing else.
//
// bench/chatops.py copies this file next to the node_modules bench/probot.py installs probot
// into, and runs it with PORT, GITHUB_WEBHOOK_SECRET, GITHUB_TOKEN and GITHUB_API_URL (the
// bench's GitHub stand-in) set. Like Shipyard in the bench, it authenticates with a token
// (Probot's `githubToken`), so no installation token is minted. Probot's middleware checks
// X-Hub-Signature-256, parses the JSON and runs the handler before it answers 200.
//
// Probot's Octokit spaces every write request at least one second apart (the write group of
// @octokit/plugin-throttling, after GitHub's advice on secondary rate limits). With
// BENCH_PROBOT_THROTTLE=1 it runs so, as it ships; otherwise that throttle is off, so that the
// figure is Probot's own work per command rather than a second's wait per reaction.
import { createServer } from "node:http";
import { Probot, ProbotOctokit, createNodeMiddleware } from "probot";

const throttled = process.env.BENCH_PROBOT_THROTTLE === "1";

// The throttle options arrive merged by Probot's defaults; `enabled: false` is set last.
class UnthrottledOctokit extends ProbotOctokit {
  constructor(options = {}) {
    super({ ...options, throttle: { ...(options.throttle || {}), enabled: false } });
  }
}

const probot = new Probot({
  githubToken: process.env.GITHUB_TOKEN,
  baseUrl: process.env.GITHUB_API_URL,
  secret: process.env.GITHUB_WEBHOOK_SECRET,
  logLevel: "warn",
  ...(throttled ? {} : { Octokit: UnthrottledOctokit }),
});

const app = (bot) => {
  bot.on("issue_comment.created", async (context) => {
    if (!(context.payload.comment.body || "").startsWith("/deploy")) {
      return;
    }
    await context.octokit.rest.reactions.createForIssueComment(
      context.repo({ comment_id: context.payload.comment.id, content: "eyes" }),
    );
  });
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
