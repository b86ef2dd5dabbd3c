{{- define "bg.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bg.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bg.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "bg.image" -}}
{{- if .image.digest -}}
{{ .image.repository }}@{{ .image.digest }}
{{- else -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The restricted Pod Security Standard, for every container but the build hosts'. */}}
{{- define "bg.restrictedContainer" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "bg.buildhostService" -}}
{{ include "bg.fullname" . }}-buildhost
{{- end -}}

{{- define "bg.databaseUrl" -}}
{{- if .Values.database.bundled.enabled -}}
jdbc:postgresql://{{ include "bg.fullname" . }}-postgresql:5432/build_gateway
{{- else -}}
{{ required "database.url is required (or database.bundled.enabled=true for a trial)" .Values.database.url }}
{{- end -}}
{{- end -}}

{{/* NetworkPolicy egress rules: to CIDRs on ports, and to cluster DNS. */}}
{{- define "bg.cidrEgress" -}}
{{- if .cidrs }}
- to:
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    {{- range .ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end }}
{{- end -}}
{{- define "bg.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .podLabels | nindent 10 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}

{{/* The gateway's egress proxy Service (egress.enabled): the build hosts' forwarders lead to it. */}}
{{- define "bg.egressService" -}}
{{ include "bg.fullname" . }}-egress
{{- end }}

{{/* The bridge address inside a build host pod (egress.bridgeCidr without its /24): where steps reach the forwarder. */}}
{{- define "bg.egressBridgeAddress" -}}
{{ (split "/" .Values.egress.bridgeCidr)._0 }}
{{- end }}
