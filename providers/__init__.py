"""The provider abstraction layer: one client interface, a package per Git host, webhooks."""
