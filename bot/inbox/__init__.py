"""The channel-free inbox: every inbound update is recorded durably first (`intake`),
then handled once, in order per chat (`processor`), as its channel prepared it
(`envelope`). It knows no channel: each channel package adds its own sources.
"""
