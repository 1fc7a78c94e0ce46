"""RAG HTTP API: upload, sync, search, documents. Views validate, authorise and call one service."""

from django.conf import settings
from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.exceptions import ApiError
from config.api.permissions import is_partner_request
from rag.api import serializers
from rag.api.filters import DocumentFilterSet
from rag.models import Document, RagType
from rag.services import access, ingest
from rag.services.search import search
from rag.services.sync import sync_source
from rag.services.text import extract_text


def _owner_for_write(request, rag_type: str):
    """The owner of a document the caller writes (None for shared), or PermissionDenied."""
    partner = is_partner_request(request)
    if not access.can_write(request.user, rag_type, partner=partner):
        if rag_type == RagType.CHATBOT_SHARED:
            raise PermissionDenied("Only staff or a partner API key may write chatbot_shared documents.")
        raise PermissionDenied("user_isolated documents need a signed-in user.")
    return request.user if rag_type == RagType.USER_ISOLATED else None


class UploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=serializers.UploadSerializer, responses={202: serializers.DocumentSerializer})
    def post(self, request):
        upload = request.FILES.get("file")
        limit = settings.RAG_UPLOAD_MAX_BYTES
        if upload is not None and upload.size > limit:
            raise ApiError(
                "file_too_large", f"The file is larger than {limit} bytes.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                {"max_bytes": limit, "size": upload.size},
            )
        data = serializers.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        owner = _owner_for_write(request, values["rag_type"])
        content = extract_text(values["file"].name, values["file"].read())
        result = ingest.upsert_document(
            owner=owner,
            rag_key=values["rag_key"],
            rag_type=values["rag_type"],
            filename=values["file"].name,
            content=content,
            metadata={"tags": values["tags"], "title": values["file"].name},
            doc_id=values["doc_id"],
            source_type="upload",
        )
        document = Document.objects.annotate(chunk_count=Count("chunks")).get(pk=result.document.pk)
        code = status.HTTP_202_ACCEPTED if result.changed else status.HTTP_200_OK
        return Response(serializers.DocumentSerializer(document).data, status=code)


class SyncView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=serializers.SyncSerializer, responses=serializers.SyncResultSerializer)
    def post(self, request):
        data = serializers.SyncSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        owner = _owner_for_write(request, values["rag_type"])
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
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=serializers.SearchSerializer, responses=serializers.SearchResponseSerializer)
    def post(self, request):
        data = serializers.SearchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            hits = search(
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
        body = {"query": values["query"], "count": len(hits), "results": hits}
        return Response(serializers.SearchResponseSerializer(body).data)


class DocumentViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """A user sees and deletes only their own documents; a partner key the shared ones; staff all."""

    filterset_class = DocumentFilterSet

    def get_queryset(self):
        queryset = access.manageable_documents(self.request.user, partner=is_partner_request(self.request))
        return queryset.annotate(chunk_count=Count("chunks")).order_by("-updated_at", "-id")

    def get_serializer_class(self):
        return serializers.DocumentDetailSerializer if self.action == "retrieve" else serializers.DocumentSerializer

    def perform_destroy(self, instance):
        ingest.delete_document(instance)
