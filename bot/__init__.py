"""aduanbot: public-complaint handling over Telegram and WhatsApp."""
