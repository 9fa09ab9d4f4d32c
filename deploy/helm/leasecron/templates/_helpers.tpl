{{/* Object names: the release name when it contains the chart name, else <release>-<chart>. */}}
{{- define "leasecron.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "leasecron.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of the leasecron pods (as deploy/base). */}}
{{- define "leasecron.selectorLabels" -}}
app.kubernetes.io/name: {{ include "leasecron.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels every object of the release carries: kustomize's part-of plus Helm's own. */}}
{{- define "leasecron.commonLabels" -}}
app.kubernetes.io/part-of: leasecron
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "leasecron.labels" -}}
{{ include "leasecron.selectorLabels" . }}
{{ include "leasecron.commonLabels" . }}
{{- end -}}

{{/* The bundled MongoDB's selector labels. */}}
{{- define "leasecron.mongodb.selectorLabels" -}}
app.kubernetes.io/name: mongodb
app.kubernetes.io/instance: {{ .Release.Name }}-mongodb
{{- end -}}

{{- define "leasecron.mongodb.labels" -}}
{{ include "leasecron.mongodb.selectorLabels" . }}
app.kubernetes.io/component: database
{{ include "leasecron.commonLabels" . }}
{{- end -}}

{{- define "leasecron.mongodb.member" -}}
{{- $n := .Values.mongodb.bundled.name -}}
{{- printf "%s-0.%s:27017" $n $n -}}
{{- end -}}

{{/* The ServiceAccount's user name, as admission policies and subjects spell it. */}}
{{- define "leasecron.serviceAccountUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "leasecron.fullname" . }}
{{- end -}}

{{- define "leasecron.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* Namespaces whose Schedules and Jobs leasecron handles: jobNamespaces, or the release's own. */}}
{{- define "leasecron.jobNamespaces" -}}
{{- if .Values.jobNamespaces -}}
{{- join "," (uniq .Values.jobNamespaces) -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Stops rendering on contradicting MongoDB choices. */}}
{{- define "leasecron.validate" -}}
{{- $m := .Values.mongodb -}}
{{- if and $m.bundled.enabled $m.external.uriSecret.name -}}
{{- fail "mongodb: set either mongodb.bundled.enabled=true or mongodb.external.uriSecret.name, not both" -}}
{{- end -}}
{{- if not (or $m.bundled.enabled $m.external.uriSecret.name) -}}
{{- fail "mongodb: with mongodb.bundled.enabled=false, name the Secret with the connection string in mongodb.external.uriSecret.name (and .key)" -}}
{{- end -}}
{{- if and $m.bundled.enabled (not .Values.secretEnv.name) -}}
{{- fail "mongodb.bundled needs secretEnv.name: the Secret with MONGODB_USERNAME and MONGODB_PASSWORD" -}}
{{- end -}}
{{- if and (eq .Values.auth.mode "token") (not .Values.auth.apiToken.secretName) (not .Values.secretEnv.name) -}}
{{- fail "auth.mode=token needs API_TOKEN: set auth.apiToken.secretName (or an API_TOKEN key in the Secret of secretEnv.name)" -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap's data (also hashed into the pod template's checksum/config annotation). */}}
{{- define "leasecron.configData" -}}
{{- $data := dict
  "MONGODB_DB" (.Values.mongodb.database | toString)
  "AUTH" .Values.auth.mode
  "LOG_LEVEL" .Values.logLevel
  "LEASE_NAME" .Values.lease.name
  "LEASE_DURATION_SECONDS" (.Values.lease.durationSeconds | toString)
  "RENEW_DEADLINE_SECONDS" (.Values.lease.renewDeadlineSeconds | toString)
  "RETRY_PERIOD_SECONDS" (.Values.lease.retryPeriodSeconds | toString)
  "LEADER_LABEL" .Values.leaderLabel
  "RUN_RETENTION_DAYS" (.Values.runRetentionDays | toString)
  "SHUTDOWN_TIMEOUT_SECONDS" (.Values.shutdownTimeoutSeconds | toString)
-}}
{{- if .Values.mongodb.bundled.enabled -}}
{{- $_ := set $data "MONGODB_URI" (printf "mongodb://%s/?replicaSet=%s&authSource=%s" (include "leasecron.mongodb.member" .) .Values.mongodb.bundled.replicaSet .Values.mongodb.database) -}}
{{- end -}}
{{- if .Values.jobNamespaces -}}
{{- $_ := set $data "JOB_NAMESPACES" (include "leasecron.jobNamespaces" .) -}}
{{- end -}}
{{- range $k, $v := .Values.config -}}
{{- $_ := set $data $k (toString $v) -}}
{{- end -}}
{{- range $k, $v := $data }}
{{ $k }}: {{ $v | quote }}
{{- end -}}
{{- end -}}
