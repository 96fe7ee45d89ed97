"""ChatOps: commands people comment on pull requests (`/deploy staging`), parsed, authorised,
gated and answered on GitHub, GitLab and Gitea alike."""
