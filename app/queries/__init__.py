"""Queries: the read side, as SELECTs shaped like the answers.
Sit beside the repositories, above the models; only services call them, and they never write.
Turn a question a GET asks into one statement whose result is the response (JSON built by the database), and
validate it into the response schema.
"""
