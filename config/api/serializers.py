from rest_framework import serializers
from rest_framework.utils import html

from chat.models import Partner
from config.api.parsers import json_text_value


class NumberField(serializers.FloatField):
    """A JSON number, not a boolean: DRF's FloatField takes `true` as 1.0 (float(True)), so `"latitude": true`
    was answered as latitude 1. IntegerField and DecimalField already refuse booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonObjectField(serializers.DictField):
    """A JSON object. In a form body, which cannot nest, it is that object's JSON text (`filters={"tags": ["공지"]}`);
    DRF's DictField read a form only as `filters.tag=...` pairs and ignored a plain `filters=0`."""

    def get_value(self, dictionary):
        value = dictionary.get(self.field_name) if html.is_html_input(dictionary) else None
        if not value:  # a JSON body, or no (or a blank) form field: DRF's reading
            return super().get_value(dictionary)
        if isinstance(value, str):
            try:
                return json_text_value(value)
            except ValueError:
                pass
        return value  # not JSON text (or a file part): refused by to_internal_value as not a dictionary


class IdentitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "partner"])
    username = serializers.CharField(allow_null=True)
    partner_id = serializers.CharField(allow_null=True)
    is_staff = serializers.BooleanField()


class PartnerSerializer(serializers.ModelSerializer):
    active_key_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Partner
        fields = ["partner_id", "name", "is_active", "created_at", "active_key_count"]
