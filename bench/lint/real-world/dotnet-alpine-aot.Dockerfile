FROM mcr.microsoft.com/dotnet/sdk:8.0-alpine AS build
RUN apk add --no-cache clang build-base zlib-dev
WORKDIR /source
COPY *.sln .
COPY src/Telemetry.Collector/*.csproj src/Telemetry.Collector/
COPY tests/Telemetry.Collector.Tests/*.csproj tests/Telemetry.Collector.Tests/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore -r linux-musl-x64
COPY . .
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet test tests/Telemetry.Collector.Tests --no-restore -c Release \
 && dotnet publish src/Telemetry.Collector -c Release -r linux-musl-x64 --no-restore -o /app \
      -p:PublishAot=true -p:StripSymbols=true

FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-alpine
RUN apk upgrade --no-cache
WORKDIR /app
COPY --from=build /app/collector .
USER $APP_UID
ENTRYPOINT ["./collector"]
