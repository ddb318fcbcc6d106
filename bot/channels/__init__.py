"""Channel adapters: deliver the core's messages over Telegram (and, later, WhatsApp)."""
