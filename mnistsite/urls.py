from django.contrib import admin
from django.urls import include, path

from recognizer.views import admin_login

urlpatterns = [
    # Before the admin's own URLs, so that its sign-in goes through the limit on attempts.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("", include("recognizer.urls")),
]
