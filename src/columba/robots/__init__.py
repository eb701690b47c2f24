"""The robot server: robots registered by developers, delivered events from a durable outbox.

Parts: :mod:`.envelope` (event JSON and its HMAC signature), :mod:`.limits` (token buckets),
:mod:`.targets` (webhook URL checks against SSRF), :mod:`.server` (registration, the outbox
worker, answers posted as the robot), :mod:`.http` (the HTTP API), :mod:`.builtin` (the robots
Columba ships).
"""
