"""A queue trigger devhost cannot serve: start-up must stop and name it."""

import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def on_message(msg: func.QueueMessage) -> None:
    pass
