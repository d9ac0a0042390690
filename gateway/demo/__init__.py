"""`gateway demo`: the gateway with a sample account for every channel and a local stand-in for the providers.

Nothing in the demo reaches the internet: Mango's recording API, Telegram's Bot API, VK's API and
WhatsApp's Cloud API are played by `providers.py` on a loopback port, and `gateway simulate` sends
traffic signed with the demo's secrets (`settings.py`).
"""
