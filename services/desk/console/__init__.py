"""The console: case workers', supervisors', regulators' and agencies' pages
at /console, and the public's at /public, in Chinese, rendered on the server
with every asset served from here (no CDN: it runs on intranets without
internet). Every action goes through the same HTTP routes an agency system
calls, in-process, under the signed-in person's token."""


def mount(app, desk) -> None:
    """The console's pages and its static files on the system's HTTP app."""
    from fastapi.staticfiles import StaticFiles

    from ..journal import install
    from . import public, views
    from .guard import PageHeaders
    from .render import STATIC

    install(app, desk)
    app.state.desk = desk
    app.include_router(views.router(desk))
    app.include_router(public.router(desk))
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(PageHeaders)
