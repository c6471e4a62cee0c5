"""Build the service's container image and prove it and compose.yaml serve the API: `python -m scripts.container.smoke`.

`images` builds what the proof needs (the app image, and where no registry is reachable a Python base and a
PostgreSQL + Redis image made from Debian's packages), each cached by what it is made from; `smoke` starts them.
"""
