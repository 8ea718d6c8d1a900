from django.urls import path

from . import views

urlpatterns = [
    path("review/", views.queue, name="review_queue"),
    path("review/decide/", views.decide, name="review_decide"),
    path("review/results/<int:pk>/decide/", views.result_decide, name="review_result_decide"),
    path("review/audit/", views.audit_log, name="review_audit"),
    path("review/usage/", views.usage, name="review_usage"),
    path("review/usage.csv", views.usage_csv, name="review_usage_csv"),
    path("review/budget/", views.api_budget, name="review_budget"),
    path("review/settings/", views.review_settings, name="review_settings"),
]
