"""RAG HTTP API: upload, sync, search, documents. Views validate, authorise and call one service."""

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.exceptions import ApiError
from config.api.parsers import JSONParser
from config.api.schema import FORM_MEDIA_TYPES, error_responses
from ml_training.services.serving import rag_ranking_for
from rag.api import serializers
from rag.api.filters import DocumentFilterSet
from rag.models import Document, RagType
from rag.services import access, ingest
from rag.services.search import search
from rag.services.sync import sync_source


def _check_rag_key(request, rag_key: str) -> None:
    """A partner key naming a rag_key it does not own gets 404, as if the rag_key did not exist."""
    if not access.can_use_rag_key(request.user, rag_key):
        raise NotFound(_("No such rag_key."))


def _owner_for_write(request, rag_type: str, rag_key: str):
    """The owner of a document the caller writes (None for shared), or PermissionDenied / NotFound."""
    if not access.can_write(request.user, rag_type):
        if rag_type == RagType.CHATBOT_SHARED:
            raise PermissionDenied(_("Only staff or a partner API key may write chatbot_shared documents."))
        raise PermissionDenied(_("user_isolated documents need a signed-in user."))
    _check_rag_key(request, rag_key)
    return request.user if rag_type == RagType.USER_ISOLATED else None


RAG_KEY_ERRORS = error_responses(**{"404": "`not_found`: a partner key named a rag_key it does not own."})


class UploadView(APIView):
    """Upload a file (.txt .md .html .pdf .docx) into a knowledge base; same doc_id replaces the document."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=serializers.UploadSerializer,
        responses={
            202: OpenApiResponse(serializers.DocumentSerializer, description="stored, queued for ingestion"),
            200: OpenApiResponse(
                serializers.DocumentSerializer, description="the same content under the same doc_id: unchanged"
            ),
            **RAG_KEY_ERRORS,
            **error_responses(**{"413": "`file_too_large`: over RAG_UPLOAD_MAX_BYTES (`details.max_bytes`)."}),
        },
    )
    def post(self, request):
        upload = request.FILES.get("file")
        limit = settings.RAG_UPLOAD_MAX_BYTES
        if upload is not None and upload.size > limit:
            raise ApiError(
                "file_too_large",
                _("The file is larger than %(limit)d bytes.") % {"limit": limit},
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                {"max_bytes": limit, "size": upload.size},
            )
        data = serializers.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        owner = _owner_for_write(request, values["rag_type"], values["rag_key"])
        result = ingest.upsert_upload(
            owner=owner,
            rag_key=values["rag_key"],
            rag_type=values["rag_type"],
            filename=values["file"].name,
            data=values["file"].read(),
            tags=values["tags"],
            doc_id=values["doc_id"],
        )
        document = Document.objects.annotate(chunk_count=Count("chunks")).get(pk=result.document.pk)
        code = status.HTTP_202_ACCEPTED if result.changed else status.HTTP_200_OK
        return Response(serializers.DocumentSerializer(document).data, status=code)


class SyncView(APIView):
    """Create, update or delete a document from a source record (board post, coaching note, project doc)."""

    @extend_schema(
        request=serializers.SyncSerializer,
        responses={200: serializers.SyncResultSerializer, 202: serializers.SyncResultSerializer, **RAG_KEY_ERRORS},
    )
    def post(self, request):
        data = serializers.SyncSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        owner = _owner_for_write(request, values["rag_type"], values["rag_key"])
        result = sync_source(
            owner=owner,
            rag_key=values["rag_key"],
            rag_type=values["rag_type"],
            doc_schema=values["doc_schema"],
            event_type=values["event_type"],
            record=values["record"],
            images=values["images"],
            image_descriptions=values["image_descriptions"],
        )
        body = {"doc_id": result.doc_id, "action": result.action, "document": None}
        if result.document is not None:
            document = Document.objects.annotate(chunk_count=Count("chunks")).get(pk=result.document.pk)
            body["document"] = serializers.DocumentSerializer(document).data
        code = status.HTTP_202_ACCEPTED if result.action in ("created", "updated") else status.HTTP_200_OK
        return Response(body, status=code)


class SearchView(APIView):
    """Hybrid (vector + BM25) search over the chunks the caller may read, ranked with the parameters the
    served rag version has for the rag_key (the caller's sticky A/B group, as in the chats)."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": serializers.SearchSerializer,
            # A form cannot nest: `filters` is the object's JSON text there (JsonObjectField).
            **{
                media_type: OpenApiRequest(
                    serializers.SearchSerializer, encoding={"filters": {"contentType": "application/json"}}
                )
                for media_type in FORM_MEDIA_TYPES
            },
        },
        responses={200: serializers.SearchResponseSerializer, **RAG_KEY_ERRORS},
    )
    def post(self, request):
        data = serializers.SearchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        _check_rag_key(request, values["rag_key"])
        asker = request.user.pk if request.user.pk is not None else str(request.user)  # a partner key: partner:<id>
        try:
            hits = search(
                ranking=rag_ranking_for(asker, values["rag_key"])[0],
                user=request.user,
                rag_key=values["rag_key"],
                rag_type=values["rag_type"],
                query=values["query"],
                limit=values["limit"],
                filters=values["filters"],
                mode=values["mode"],
            )
        except ValueError as exc:
            raise ApiError("invalid", str(exc)) from exc
        notice = None if hits else access.empty_scope_notice(
            user=request.user, rag_key=values["rag_key"], rag_type=values["rag_type"]
        )
        body = {"query": values["query"], "count": len(hits), "results": hits, "notice": notice}
        return Response(serializers.SearchResponseSerializer(body).data)


class DocumentViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """A user sees and deletes only their own documents; a partner key the shared ones of its rag_keys;
    staff all."""

    filterset_class = DocumentFilterSet

    def get_queryset(self):
        queryset = access.manageable_documents(self.request.user)
        return queryset.annotate(chunk_count=Count("chunks")).order_by("-updated_at", "-id")

    def list(self, request, *args, **kwargs):
        if request.query_params.get("rag_key"):  # an empty value filters nothing
            _check_rag_key(request, request.query_params["rag_key"])
        return super().list(request, *args, **kwargs)

    def get_serializer_class(self):
        return serializers.DocumentDetailSerializer if self.action == "retrieve" else serializers.DocumentSerializer

    def perform_destroy(self, instance):
        ingest.delete_document(instance)
