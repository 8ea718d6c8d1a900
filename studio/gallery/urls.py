from django.urls import path

from . import finding_views, proofing_views, views

urlpatterns = [
    # The gallery and what people do with its results.
    path("gallery/", views.gallery, name="gallery"),
    path("gallery/news/", views.gallery_news, name="gallery_news"),
    path("gallery/results/<int:pk>/favourite/", views.favourite_toggle, name="favourite_toggle"),
    path("gallery/results/<int:pk>/organise/", views.result_organise, name="result_organise"),
    path(
        "gallery/results/<int:pk>/collections/",
        views.result_collections,
        name="result_collections",
    ),
    path("gallery/results/<int:pk>/share/", views.result_share, name="result_share"),
    # Finding what the team already has.
    path(
        "gallery/results/<int:pk>/similar/", finding_views.result_similar, name="result_similar"
    ),
    path("gallery/results/<int:pk>/reuse/", finding_views.result_reuse, name="result_reuse"),
    path("gallery/already-made/", finding_views.already_made, name="already_made"),
    # Collections (boards).
    path("collections/", views.collection_list, name="collection_list"),
    path("collections/new/", views.collection_create, name="collection_create"),
    path("collections/<int:pk>/", views.collection_detail, name="collection_detail"),
    path("collections/<int:pk>/rename/", views.collection_rename, name="collection_rename"),
    path("collections/<int:pk>/delete/", views.collection_delete, name="collection_delete"),
    path("collections/<int:pk>/share/", views.collection_share, name="collection_share"),
    path("collections/<int:pk>/download.zip", views.collection_zip, name="collection_zip"),
    path("gallery/selection/collect/", views.selection_collect, name="selection_collect"),
    path(
        "collections/<int:pk>/results/<int:result_pk>/add/",
        views.collection_add,
        name="collection_add",
    ),
    path(
        "collections/<int:pk>/results/<int:result_pk>/remove/",
        views.collection_remove,
        name="collection_remove",
    ),
    path(
        "collections/<int:pk>/results/<int:result_pk>/cover/",
        views.collection_cover,
        name="collection_cover",
    ),
    # Share links: managed by the team, opened by anyone who has one.
    path("share-links/", views.share_link_list, name="share_link_list"),
    path("share-links/<int:pk>/revoke/", views.share_link_revoke, name="share_link_revoke"),
    path("s/<slug:share_token>/", views.shared, name="shared"),
    path("s/<slug:share_token>/results/<int:pk>/", views.shared_result, name="shared_result"),
    path(
        "s/<slug:share_token>/media/<int:pk>/<str:kind>/",
        views.shared_media,
        name="shared_media",
    ),
    # Client links (proofing): made on a collection, opened by a client with no account.
    path(
        "collections/<int:pk>/client-links/",
        proofing_views.collection_client_links,
        name="collection_client_links",
    ),
    path(
        "collections/<int:pk>/client-activity/",
        proofing_views.collection_client_activity,
        name="collection_client_activity",
    ),
    path(
        "client-links/<int:pk>/revoke/",
        proofing_views.client_link_revoke,
        name="client_link_revoke",
    ),
    path("c/<slug:token>/", proofing_views.client_link, name="client_link"),
    path("c/<slug:token>/unlock/", proofing_views.client_unlock, name="client_unlock"),
    path("c/<slug:token>/name/", proofing_views.client_name, name="client_name"),
    path("c/<slug:token>/results/<int:pk>/", proofing_views.client_pick, name="client_pick"),
    path(
        "c/<slug:token>/media/<int:pk>/<str:kind>/",
        proofing_views.client_media,
        name="client_media",
    ),
    # Media bytes, for members.
    path("media/results/<int:pk>/<str:kind>/", views.result_media, name="result_media"),
    path("media/references/<int:pk>/", views.reference_media, name="reference_media"),
]
