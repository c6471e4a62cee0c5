"""Services: the use cases, as business rules over a unit of work.
Sit between the routers above and the repositories below; they alone decide and commit.
Turn a validated request and the caller into a decision, a transaction, and a domain result.
"""
