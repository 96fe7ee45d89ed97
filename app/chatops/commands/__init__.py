"""One module per comment command, each with `run(ctx) -> Reply` (`app.chatops.runners`)."""
