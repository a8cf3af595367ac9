{{/* Chart name, overridable. */}}
{{- define "terraform-mirror.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name when it already contains the chart
name, so a release called "terraform-mirror" names objects exactly as
config/default does (terraform-mirror-manager, terraform-mirror-server, ...).
*/}}
{{- define "terraform-mirror.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "terraform-mirror.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "terraform-mirror.labels" -}}
helm.sh/chart: {{ include "terraform-mirror.chart" . }}
app.kubernetes.io/name: {{ include "terraform-mirror.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: terraform-mirror
{{- end }}

{{/* The pod's labels and the Deployment/Service selector. */}}
{{- define "terraform-mirror.selectorLabels" -}}
app.kubernetes.io/name: {{ include "terraform-mirror.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: mirror
{{- end }}

{{- define "terraform-mirror.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-controller" (include "terraform-mirror.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "terraform-mirror.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding the operator token (key: operator.existingSecretKey, "token" when generated). */}}
{{- define "terraform-mirror.operatorTokenSecret" -}}
{{- default (printf "%s-operator-token" (include "terraform-mirror.fullname" .)) .Values.operator.existingSecret }}
{{- end }}

{{- define "terraform-mirror.operatorTokenKey" -}}
{{- if .Values.operator.existingSecret }}
{{- .Values.operator.existingSecretKey }}
{{- else }}
{{- "token" }}
{{- end }}
{{- end }}

{{/* The Secret with S3 credentials (keys access_key_id, secret_access_key); empty: the default AWS chain. */}}
{{- define "terraform-mirror.s3Secret" -}}
{{- if .Values.storage.existingSecret }}
{{- .Values.storage.existingSecret }}
{{- else if and .Values.storage.accessKeyId .Values.storage.secretAccessKey }}
{{- printf "%s-s3-credentials" (include "terraform-mirror.fullname" .) }}
{{- end }}
{{- end }}

{{/* TFM_SERVER_PUBLIC_URL: explicit, else https://<first ingress host>, else empty. */}}
{{- define "terraform-mirror.publicUrl" -}}
{{- if .Values.server.publicUrl }}
{{- .Values.server.publicUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- printf "https://%s" (index .Values.ingress.hosts 0).host }}
{{- end }}
{{- end }}

{{- define "terraform-mirror.pvcName" -}}
{{- default (printf "%s-data" (include "terraform-mirror.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}
