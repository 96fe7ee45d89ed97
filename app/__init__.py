"""Shipyard: the web application, the domain and the command line."""
