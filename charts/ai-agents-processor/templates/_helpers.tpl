{{/* vim: set filetype=mustache: */}}

{{- define "ai-agents-processor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-processor, or the release name when it already says "processor". */}}
{{- define "ai-agents-processor.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "processor" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-processor" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-processor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ai-agents-processor.labels" -}}
app.kubernetes.io/name: {{ include "ai-agents-processor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ai-agents
app.kubernetes.io/component: processor
helm.sh/chart: {{ include "ai-agents-processor.chart" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ai-agents-processor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ai-agents-processor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: processor
{{- end -}}

{{- define "ai-agents-processor.annotations" -}}
{{- with .Values.commonAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ai-agents-processor.image" -}}
{{- $registry := .context.Values.global.imageRegistry | default .image.registry -}}
{{- $ref := printf "%s:%s" .image.repository (.image.tag | default .context.Chart.AppVersion) -}}
{{- if .image.digest -}}
{{- $ref = printf "%s@%s" .image.repository .image.digest -}}
{{- end -}}
{{- if $registry -}}{{ printf "%s/%s" $registry $ref }}{{- else -}}{{ $ref }}{{- end -}}
{{- end -}}

{{- define "ai-agents-processor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "ai-agents-processor.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-processor.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-workspace" (include "ai-agents-processor.fullname" .)) -}}
{{- end -}}

{{- define "ai-agents-processor.ingestUrl" -}}
{{- .Values.ingestUrl | default (printf "http://%s.%s.svc:%d/api/events/ingest" .Values.apiServiceName .Release.Namespace (int .Values.apiServicePort)) -}}
{{- end -}}

{{- define "ai-agents-processor.validateValues" -}}
{{- $messages := list -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.rbac.create) (not .Values.serviceAccount.name) -}}
{{- $messages = append $messages "rbac.create: more than one replica needs leader election on a Lease; keep rbac.create=true or name a ServiceAccount that may use leases" -}}
{{- end -}}
{{- if and (not .Values.uploadsPvcName) (not .Values.persistence.existingClaim) -}}
{{- $messages = append $messages "uploadsPvcName: name the PVC that executor Jobs mount at /uploads (the workspace PVC of ai-agents-main)" -}}
{{- end -}}
{{- if and .Values.persistence.enabled (not .Values.persistence.existingClaim) (gt (int .Values.replicaCount) 1) (not (has "ReadWriteMany" .Values.persistence.accessModes)) -}}
{{- $messages = append $messages (printf "persistence.accessModes: replicaCount=%d needs ReadWriteMany" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- $messages = append $messages "existingSecret: name the Secret holding INGEST_TOKEN_SECRET (ai-agents-main's deployment Secret, ai-agents-secrets)" -}}
{{- end -}}
{{- if not .Values.executor.serviceAccountName -}}
{{- $messages = append $messages "executor.serviceAccountName: name the ServiceAccount executor Jobs run as (ai-agents-main creates <release>-executor)" -}}
{{- end -}}
{{- if $messages -}}
{{- printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages) | fail -}}
{{- end -}}
{{- end -}}
