"""The IM server role: registration, presence, contacts and 1:1 messages over SIP and SIP-C."""
