"""API: the routers, where HTTP requests arrive.
Sit on top of the services; they validate input, inject the caller and map outcomes to status codes.
Turn an HTTP request into a service call, and its result into a response; no SQL, no business rules.
"""
