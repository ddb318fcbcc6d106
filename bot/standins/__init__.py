"""Local stand-ins of the outside services aduanbot talks to, for tests and the playground."""
