"""The channels: one package per chat platform (`telegram`, `whatsapp`), each exposing a
`ChannelRegistration` (`registration`) that the composition root loops over, and the
pieces they share: what the outbox needs from a sender (`base`), splitting long text
(`textsplit`) and judging a reporter's file by its content (`filecheck`)."""
