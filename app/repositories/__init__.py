"""Repositories: queries, as SQLAlchemy statements over the models.
Sit between the services above and the models and database below; they never commit.
Turn a question asked in Python into SQL, and the rows that come back into model objects.
"""
