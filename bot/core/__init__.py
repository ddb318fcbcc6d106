"""The channel-free core: cases, the intake dialogue, permissions. No framework imports."""
