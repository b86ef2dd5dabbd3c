# See https://aka.ms/customizecontainer for how the team customises its images.
FROM mcr.microsoft.com/dotnet/aspnet:8.0-bookworm-slim AS base
USER app
WORKDIR /app
EXPOSE 8080
EXPOSE 8081

FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build
ARG BUILD_CONFIGURATION=Release
WORKDIR /src
COPY ["Billing.Api/Billing.Api.csproj", "Billing.Api/"]
COPY ["Billing.Domain/Billing.Domain.csproj", "Billing.Domain/"]
COPY ["Billing.Infrastructure/Billing.Infrastructure.csproj", "Billing.Infrastructure/"]
RUN dotnet restore "./Billing.Api/Billing.Api.csproj"
COPY . .
WORKDIR "/src/Billing.Api"
RUN dotnet build "./Billing.Api.csproj" -c $BUILD_CONFIGURATION -o /app/build

FROM build AS publish
ARG BUILD_CONFIGURATION=Release
RUN dotnet publish "./Billing.Api.csproj" -c $BUILD_CONFIGURATION -o /app/publish /p:UseAppHost=false

FROM base AS final
WORKDIR /app
COPY --from=publish /app/publish .
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_gcServer=0
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["dotnet", "Billing.Api.dll", "--health"]
ENTRYPOINT ["dotnet", "Billing.Api.dll"]
