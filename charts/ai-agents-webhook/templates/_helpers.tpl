{{/* vim: set filetype=mustache: */}}

{{- define "ai-agents-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release name when it already says "webhook", else <release>-webhook-<source>. */}}
{{- define "ai-agents-webhook.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "webhook" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-webhook-%s" .Release.Name .Values.source.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ai-agents-webhook.labels" -}}
app.kubernetes.io/name: {{ include "ai-agents-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ai-agents
app.kubernetes.io/component: webhook
helm.sh/chart: {{ include "ai-agents-webhook.chart" . }}
labrats.work/webhook-source: {{ .Values.source.name | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ai-agents-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ai-agents-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "ai-agents-webhook.annotations" -}}
{{- with .Values.commonAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ai-agents-webhook.image" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- if .Values.image.digest -}}
{{- $ref = printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- end -}}
{{- if $registry -}}{{ printf "%s/%s" $registry $ref }}{{- else -}}{{ $ref }}{{- end -}}
{{- end -}}

{{- define "ai-agents-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "ai-agents-webhook.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-webhook.path" -}}
{{- .Values.ingress.path | default (printf "/api/webhooks/%s" .Values.source.name) -}}
{{- end -}}

{{- define "ai-agents-webhook.validateValues" -}}
{{- $messages := list -}}
{{- if not .Values.source.name -}}
{{- $messages = append $messages "source.name: required — the name of the WebhookSource this receiver serves (WEBHOOK_SOURCE_NAME)" -}}
{{- end -}}
{{- if not .Values.source.secretName -}}
{{- $messages = append $messages "source.secretName: required — the Secret with the source's HMAC key (the WebhookSource's spec.secretRef.name)" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.hostname) -}}
{{- $messages = append $messages "ingress.hostname: required when ingress.enabled=true" -}}
{{- end -}}
{{- if and .Values.ingress.enabled .Values.ingress.path (not (hasPrefix "/api/webhooks/" .Values.ingress.path)) -}}
{{- $messages = append $messages (printf "ingress.path: %q must start with /api/webhooks/ (the receiver only serves that prefix)" .Values.ingress.path) -}}
{{- end -}}
{{- if $messages -}}
{{- printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages) | fail -}}
{{- end -}}
{{- end -}}
