"""Secret stores as integrations: `vault.py` (HashiCorp Vault and OpenBao, through hvac), and
`source.py`, which serves `vault://` references to the process's secret resolvers."""
