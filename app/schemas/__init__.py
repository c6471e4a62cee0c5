"""Schemas: the request and response contracts, as Pydantic models.
Sit at the edge, shared by the routers and the services; they hold no behaviour.
Turn JSON into validated Python values on the way in, and domain objects into JSON on the way out.
"""
