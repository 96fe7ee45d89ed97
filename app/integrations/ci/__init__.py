"""CI integrations: Jenkins, and the Git hosts' own CI (GitHub Actions, GitLab CI, Gitea
Actions) through the provider layer; each starts a build and reads it back by its run id."""
