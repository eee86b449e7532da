{{/* vim: set filetype=mustache: */}}

{{/* Chart name, truncated to 63 characters. */}}
{{- define "ai-agents-main.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name. The release name is used as is when it already contains the chart name,
so a release called "ai-agents" yields "ai-agents-main"-free names such as "ai-agents-api".
*/}}
{{- define "ai-agents-main.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "ai-agents" .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component: <fullname>-<component>. */}}
{{- define "ai-agents-main.componentName" -}}
{{- printf "%s-%s" (include "ai-agents-main.fullname" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ai-agents-main.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels (app.kubernetes.io/*) plus commonLabels. */}}
{{- define "ai-agents-main.labels" -}}
app.kubernetes.io/name: {{ include "ai-agents-main.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "ai-agents-main.appVersion" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ai-agents
helm.sh/chart: {{ include "ai-agents-main.chart" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component: standard labels + app.kubernetes.io/component. */}}
{{- define "ai-agents-main.componentLabels" -}}
{{ include "ai-agents-main.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of one component (immutable: never add version-dependent labels here). */}}
{{- define "ai-agents-main.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ai-agents-main.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ai-agents-main.annotations" -}}
{{- with .Values.commonAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Version the API reports: appVersion value, else the API image tag, else the chart appVersion. */}}
{{- define "ai-agents-main.appVersion" -}}
{{- .Values.appVersion | default .Values.api.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{/* Image reference: {{ include "ai-agents-main.image" (dict "image" .Values.api.image "context" $) }} */}}
{{- define "ai-agents-main.image" -}}
{{- $registry := .context.Values.global.imageRegistry | default .image.registry -}}
{{- $ref := printf "%s:%s" .image.repository (.image.tag | default .context.Chart.AppVersion) -}}
{{- if .image.digest -}}
{{- $ref = printf "%s@%s" .image.repository .image.digest -}}
{{- end -}}
{{- if $registry -}}
{{- printf "%s/%s" $registry $ref -}}
{{- else -}}
{{- $ref -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-main.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "ai-agents-main.api.fullname" -}}
{{- include "ai-agents-main.componentName" (dict "context" . "component" "api") -}}
{{- end -}}

{{/* Cluster-scoped objects of the API: the release namespace in the name keeps releases apart. */}}
{{- define "ai-agents-main.api.clusterRoleName" -}}
{{- printf "%s-%s-tokenreviews" .Release.Namespace (include "ai-agents-main.api.fullname" .) -}}
{{- end -}}

{{- define "ai-agents-main.app.fullname" -}}
{{- include "ai-agents-main.componentName" (dict "context" . "component" "app") -}}
{{- end -}}

{{- define "ai-agents-main.api.serviceAccountName" -}}
{{- if .Values.api.serviceAccount.create -}}
{{- .Values.api.serviceAccount.name | default (include "ai-agents-main.api.fullname" .) -}}
{{- else -}}
{{- .Values.api.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-main.executor.serviceAccountName" -}}
{{- if .Values.executor.serviceAccount.create -}}
{{- .Values.executor.serviceAccount.name | default (include "ai-agents-main.componentName" (dict "context" . "component" "executor")) -}}
{{- else -}}
{{- .Values.executor.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-main.housekeeping.serviceAccountName" -}}
{{- include "ai-agents-main.componentName" (dict "context" . "component" "housekeeping") -}}
{{- end -}}

{{- define "ai-agents-main.secretName" -}}
{{- if .Values.secrets.create -}}
{{- include "ai-agents-main.componentName" (dict "context" . "component" "secrets") -}}
{{- else -}}
{{- .Values.secrets.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "ai-agents-main.workspaceClaimName" -}}
{{- .Values.persistence.existingClaim | default (include "ai-agents-main.componentName" (dict "context" . "component" "workspace")) -}}
{{- end -}}

{{- define "ai-agents-main.modelsCacheClaimName" -}}
{{- include "ai-agents-main.componentName" (dict "context" . "component" "models-cache") -}}
{{- end -}}

{{- define "ai-agents-main.oidcRedirectUri" -}}
{{- .Values.oidc.redirectUri | default (printf "https://%s/api/auth/callback" .Values.ingress.hostname) -}}
{{- end -}}

{{/* The hardened pod security context of the deployment guide. */}}
{{- define "ai-agents-main.podSecurityContext" -}}
{{- if .enabled }}
securityContext:
  {{- toYaml (omit . "enabled") | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "ai-agents-main.containerSecurityContext" -}}
{{- if .enabled }}
securityContext:
  {{- toYaml (omit . "enabled") | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Fails the render with every problem found in the values, one per line. */}}
{{- define "ai-agents-main.validateValues" -}}
{{- $messages := list -}}
{{- if and (not .Values.secrets.create) (not .Values.secrets.existingSecret) -}}
{{- $messages = append $messages "secrets: set secrets.existingSecret to the Secret holding OIDC_CLIENT_SECRET, JWT_SECRET, SUBMIT_API_KEYS and INGEST_TOKEN_SECRET, or set secrets.create=true with the values" -}}
{{- end -}}
{{- if .Values.secrets.create -}}
{{- if lt (len .Values.secrets.jwtSecret) 32 -}}
{{- $messages = append $messages "secrets.jwtSecret: must be at least 32 characters when secrets.create=true" -}}
{{- end -}}
{{- if lt (len .Values.secrets.ingestTokenSecret) 32 -}}
{{- $messages = append $messages "secrets.ingestTokenSecret: must be at least 32 characters when secrets.create=true (it signs the executors' ingest tokens)" -}}
{{- end -}}
{{- if not .Values.secrets.submitApiKeys -}}
{{- $messages = append $messages "secrets.submitApiKeys: must not be empty when secrets.create=true" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.hostname) -}}
{{- $messages = append $messages "ingress.hostname: required when ingress.enabled=true" -}}
{{- end -}}
{{- if and (gt (int .Values.api.replicaCount) 1) .Values.persistence.enabled (not (has "ReadWriteMany" .Values.persistence.accessModes)) -}}
{{- $messages = append $messages (printf "persistence.accessModes: api.replicaCount=%d needs ReadWriteMany (ReadWriteOnce only works with a single replica)" (int .Values.api.replicaCount)) -}}
{{- end -}}
{{- if not .Values.persistence.enabled -}}
{{- if not .Values.persistence.existingClaim -}}
{{- $messages = append $messages "persistence: the API needs the workspace volume; set persistence.enabled=true or persistence.existingClaim" -}}
{{- end -}}
{{- end -}}
{{- if $messages -}}
{{- printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages) | fail -}}
{{- end -}}
{{- end -}}
