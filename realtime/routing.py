from django.urls import path

from realtime.consumers import AccountEventsConsumer

websocket_urlpatterns = [path("ws/events/", AccountEventsConsumer.as_asgi())]
