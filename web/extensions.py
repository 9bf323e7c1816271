"""Flask extensions, created unbound and bound in create_app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# No X-RateLimit-* headers: on the sign-in form they told an anonymous observer how many
# attempts an account had left, i.e. whether someone had just used it.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)
