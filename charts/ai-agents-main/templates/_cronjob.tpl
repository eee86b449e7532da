{{/*
One housekeeping CronJob. Usage:
{{ include "ai-agents-main.housekeepingCronJob" (dict "context" $ "name" "cleanup" "schedule" "…" "args" (list …) "workspace" true) }}
*/}}
{{- define "ai-agents-main.housekeepingCronJob" -}}
{{- $ := .context -}}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ printf "%s-%s" (include "ai-agents-main.fullname" $) .name | trunc 52 | trimSuffix "-" }}
  namespace: {{ $.Release.Namespace | quote }}
  labels: {{- include "ai-agents-main.componentLabels" (dict "context" $ "component" "housekeeping") | nindent 4 }}
    ai-agents.labrats.work/cronjob: {{ .name }}
spec:
  schedule: {{ .schedule | quote }}
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 600
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: 2
      activeDeadlineSeconds: 1800
      ttlSecondsAfterFinished: 86400
      template:
        metadata:
          labels: {{- include "ai-agents-main.componentLabels" (dict "context" $ "component" "housekeeping") | nindent 12 }}
            ai-agents.labrats.work/cronjob: {{ .name }}
        spec:
          restartPolicy: Never
          serviceAccountName: {{ include "ai-agents-main.housekeeping.serviceAccountName" $ }}
          {{- include "ai-agents-main.imagePullSecrets" $ | nindent 10 }}
          {{- include "ai-agents-main.podSecurityContext" $.Values.api.podSecurityContext | nindent 10 }}
          containers:
            - name: {{ .name }}
              image: {{ include "ai-agents-main.image" (dict "image" $.Values.housekeeping.image "context" $) }}
              imagePullPolicy: {{ $.Values.housekeeping.image.pullPolicy }}
              {{- include "ai-agents-main.containerSecurityContext" $.Values.api.containerSecurityContext | nindent 14 }}
              command: ["node", {{ printf "controller/housekeeping/%s.ts" .name | quote }}]
              args: {{- toYaml .args | nindent 16 }}
              env:
                - name: NAMESPACE
                  valueFrom:
                    fieldRef:
                      fieldPath: metadata.namespace
                - name: LOG_LEVEL
                  value: {{ $.Values.logLevel | quote }}
              resources: {{- toYaml $.Values.housekeeping.resources | nindent 16 }}
              {{- if .workspace }}
              volumeMounts:
                - name: workspace
                  mountPath: {{ $.Values.persistence.mountPath }}
              {{- end }}
          {{- if .workspace }}
          volumes:
            - name: workspace
              persistentVolumeClaim:
                claimName: {{ include "ai-agents-main.workspaceClaimName" $ }}
          {{- end }}
{{- end -}}
