"""DB: the engine, the session factory and the first-admin bootstrap.
Sits at the bottom, wired into the app only from main.py and api/deps.py.
Turns a database URL into pooled async connections, with the right driver and settings.
"""
