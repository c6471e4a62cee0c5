"""Models: the tables, columns and indexes the rows live in.
Sit at the bottom, under the repositories; they import nothing from the app above them.
Map Python objects to rows, and declare what the migrations must create.
"""

from app.models.base import Base
from app.models.session import LoginSession, RefreshToken
from app.models.user import Role, User

__all__ = ["Base", "LoginSession", "RefreshToken", "Role", "User"]
