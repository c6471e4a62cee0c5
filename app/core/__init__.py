"""Core: cross-cutting machinery used by every layer: errors, security, logging, health.
Sits beside the layers, importing none of them.
Turns raw concerns (a token, a password, an exception, a request) into checked, logged, uniform values.
"""
