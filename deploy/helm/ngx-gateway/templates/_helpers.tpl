{{/*
Names. Every object is named after the release (RELEASE-ngx-gateway unless
the release name already holds the chart name), so nothing cluster-scoped
can collide with ingress-nginx's chart (ClusterRole "ingress-nginx",
IngressClass "nginx", ...).
*/}}
{{- define "ngx-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ngx-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ngx-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ngx-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ngx-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ngx-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ngx-gateway.serviceAccountName" -}}
{{- default (include "ngx-gateway.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "ngx-gateway.leaseName" -}}
{{- default (printf "%s-leader" (include "ngx-gateway.fullname" .)) .Values.nginxGateway.leaderElection.lockName }}
{{- end }}

{{- define "ngx-gateway.image" -}}
{{- $img := .Values.nginxGateway.image }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion ($img.tag | toString)) }}
{{- end }}

{{/* The nginx container's image: nginx.image, else the controller's. */}}
{{- define "ngx-gateway.nginxImage" -}}
{{- $img := .Values.nginx.image }}
{{- if $img.repository }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion ($img.tag | toString)) }}
{{- else }}
{{- include "ngx-gateway.image" . }}
{{- end }}
{{- end }}

{{/* Where both containers mount the shared state directory. */}}
{{- define "ngx-gateway.stateDir" -}}
/var/lib/ngx-gateway
{{- end }}

{{- define "ngx-gateway.isDaemonSet" -}}
{{- if eq (lower .Values.nginxGateway.kind) "daemonset" }}true{{ end }}
{{- end }}
