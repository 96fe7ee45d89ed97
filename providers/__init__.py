"""The provider abstraction layer: webhook protocol per Git host, and (later) the host clients."""
