"""Who is looking at Shipyard's pages: sign-in with the Git host (OAuth), the signed session
cookie, and who may read which run or delivery. The pages themselves are in `app.web`."""
