from socialbench.cli import entry

entry()
