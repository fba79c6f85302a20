"""Conformance app with one HTTP function whose route template comes from a setting."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="%BAD_ROUTE%")
def bad(req: func.HttpRequest) -> str:
    return "never served"
