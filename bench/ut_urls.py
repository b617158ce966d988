"""django-user-tasks' contender serves no pages."""

urlpatterns: list[object] = []
